-- 示范场景 demonstration scenes (guatu/scenes): a scene groups member projects under a program and
-- a lead bureau. Written by leaders and administrators (API, CLI) and by the plan import's
-- `scene` column, every write audited; members are project codes (a project may be in several
-- scenes; a member not yet in `projects` shows as unknown until its lifecycle writes its row).
CREATE TABLE scenes (
    code         text PRIMARY KEY,
    name_zh      text NOT NULL,
    name_en      text NOT NULL DEFAULT '',
    program      text NOT NULL,
    lead_bureau  text NOT NULL,
    description  text NOT NULL DEFAULT '',
    illustrative boolean NOT NULL DEFAULT false,  -- the sample programme's scenes (示例)
    version      bigint NOT NULL DEFAULT 1,
    updated_by   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scenes_program ON scenes (program);

CREATE TABLE scene_projects (
    scene    text NOT NULL REFERENCES scenes (code) ON DELETE CASCADE,
    project  text NOT NULL,
    added_by text NOT NULL DEFAULT '',
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scene, project)
);
CREATE INDEX scene_projects_project ON scene_projects (project);
