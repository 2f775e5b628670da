"""Settings, reference data (programs, bureaus), lifecycle thresholds, rule sets and the sample programme."""
