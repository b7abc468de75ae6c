"""Pure transforms: DuckDB SQL over Arrow tables. No Dagster imports here, so each is unit-tested directly."""
