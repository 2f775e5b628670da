"""示范场景 demonstration scenes: projects grouped into a scene (九曲江安·十里光华, 公园城市…).

- `models`: a scene (code, name, program, lead bureau, member projects) and its progress view;
- `rules`: the scene's own light (红黄绿灯) from its members, a documented rule;
- `store`: the `scenes` / `scene_projects` tables (migration 013), audited writes, progress reads;
- `sample`: the illustrative scenes of the sample programme.
"""
