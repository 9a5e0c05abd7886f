"""The benchmark's pgbench ceiling runs the gateway's own SQL: benchmarks/gateway/pgbench_gateway.sql is
generated from Sources/Gateway/GatewayStore.swift and must be regenerated when that SQL changes."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pgbench_script_matches_gateway_sql():
    check = subprocess.run([sys.executable, str(ROOT / "benchmarks/gateway/pgbench_script.py"), "--check"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_check_fails_when_the_gateway_sql_differs(tmp_path):
    # The same generator against a copy of the source with one statement changed must disagree.
    sys.path.insert(0, str(ROOT / "benchmarks/gateway"))
    import pgbench_script

    source = (ROOT / "Sources/Gateway/GatewayStore.swift").read_text()
    changed = source.replace("ORDER BY priority DESC, run_at, id", "ORDER BY run_at, id", 1)
    assert changed != source
    committed = (ROOT / "benchmarks/gateway/pgbench_gateway.sql").read_text()
    assert pgbench_script.render(pgbench_script.statements(source)) == committed
    assert pgbench_script.render(pgbench_script.statements(changed)) != committed
