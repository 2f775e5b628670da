"""Pure rules: stage order, deadlines, 序时 progress, lights and input validation."""
