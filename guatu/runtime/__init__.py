"""Running Guatu: `guatu up` (embedded Temporal and PostgreSQL, the worker, the API), the
guard of the embedded servers, which DSN each database role connects with (`dsns`), the sample
history and the programme simulation.
"""
