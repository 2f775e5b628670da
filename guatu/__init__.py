"""Guatu (挂图): domain models, pure rules and shared plumbing of the wall-chart engine."""
