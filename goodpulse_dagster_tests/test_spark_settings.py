"""GOODPULSE_ENGINE and GOODPULSE_SPARK_REMOTE (settings.py), and the session resource's
remote (spark/session.py), without starting Spark."""

import pytest

from goodpulse_dagster.errors import UserSettingsError
from goodpulse_dagster.settings import EngineSettings, load_settings
from goodpulse_dagster.settings import engine_settings_from_env as engine_settings
from goodpulse_dagster.spark.session import SparkConnectResource, local_conf


def test_duckdb_and_a_local_server_by_default():
    assert engine_settings({}) == EngineSettings(engine="duckdb", spark_remote="local[2]")


def test_spark_on_a_cluster():
    env = {"GOODPULSE_ENGINE": "Spark", "GOODPULSE_SPARK_REMOTE": "sc://spark.internal:15002"}
    assert engine_settings(env) == EngineSettings("spark", "sc://spark.internal:15002")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GOODPULSE_ENGINE": "polars"}, "GOODPULSE_ENGINE must be one of"),
        ({"GOODPULSE_SPARK_REMOTE": "spark://host:7077"}, "must be a Spark Connect URL"),
    ],
)
def test_a_wrong_setting_says_what_is_expected(env, message):
    with pytest.raises(UserSettingsError, match=message):
        engine_settings(env)


def test_the_resource_takes_the_remote_from_the_environment(monkeypatch):
    monkeypatch.setenv("GOODPULSE_SPARK_REMOTE", "sc://example:15002")
    assert SparkConnectResource().resolved_remote() == "sc://example:15002"
    assert SparkConnectResource(remote="local[1]").resolved_remote() == "local[1]"
    with pytest.raises(RuntimeError, match="only while a step runs"):
        SparkConnectResource().session  # noqa: B018


def test_a_local_server_keeps_its_files_in_its_work_folder(tmp_path):
    conf = local_conf(tmp_path, shuffle_partitions=4, driver_memory="1g")
    assert conf["spark.sql.shuffle.partitions"] == "4"
    assert conf["spark.ui.enabled"] == "false"
    assert conf["spark.sql.warehouse.dir"] == str(tmp_path / "warehouse")
    assert conf["spark.driver.extraJavaOptions"] == f"-Dderby.system.home={tmp_path / 'derby'}"


def test_the_engine_is_part_of_the_settings(tmp_path):
    env = {"GOODPULSE_HOME": str(tmp_path), "GOODPULSE_ENGINE": "spark"}
    assert load_settings(env).engine == EngineSettings("spark", "local[2]")
    assert load_settings(env).engine.spark
    assert not load_settings({"GOODPULSE_HOME": str(tmp_path)}).engine.spark
