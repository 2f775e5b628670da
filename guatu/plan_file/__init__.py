"""The project plan as a spreadsheet (CSV / XLSX): reading, checking, templates and exports.

- `columns`: the column layout (documented there) and the words a cell may hold;
- `cells`: one cell as a value (text, number, date, kind, curve, yes/no);
- `rows`: checking one row into a `ProjectPlan`, every violation at its cell;
- `read`: finding the header and reading a CSV / XLSX file (`read_plan_file`);
- `results`: what reading gives (`PlanFile`, `PlanError`, `PlanFileError`);
- `write`: plans, templates and the sample as CSV / XLSX (`write_plans`, `write_template`,
  `export_sample`).
"""
