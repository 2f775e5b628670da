"""Running Guatu: `guatu up` (embedded Temporal and PostgreSQL, the worker, the API), the
guard of the embedded servers, the sample history and the programme simulation.
"""
