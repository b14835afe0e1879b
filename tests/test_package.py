"""Import-time settings of the package."""
import os
import subprocess
import sys


def _timeout_seen_after_import(env: dict) -> str:
    code = "import eventsnn, os; print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.strip()


def test_import_shortens_openblas_thread_wait_unless_the_user_set_it():
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    assert _timeout_seen_after_import(env) == "10"
    assert _timeout_seen_after_import({**env, "OPENBLAS_THREAD_TIMEOUT": "20"}) == "20"
