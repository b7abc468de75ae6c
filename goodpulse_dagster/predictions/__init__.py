"""Predictions: MBG/NBD and Gamma-Gamma (clv_model.py, numpy/scipy), fitted between the SQL steps of
models/gold/customer_predictions*.sql and
models/kpi/{churn_risk_monitor,early_warning,prediction_backtest}.sql (transforms.py); assets.py
and checks.py are the Dagster wrappers. docs/predictions.md.
"""
