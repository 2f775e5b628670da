"""The project plan as a spreadsheet (CSV / XLSX): reading, checking, templates and exports."""
