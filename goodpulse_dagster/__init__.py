"""GoodPulse: e-commerce customer-retention analytics on Dagster."""

__version__ = "0.1.0"
