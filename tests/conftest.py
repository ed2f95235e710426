"""Run-wide hooks. The security suite's summary line lives here, not in tests/security: xdist's
controller loads only this conftest, and it must add up the workers' counts."""
import os

import pytest

# Lambda sets Powertools' environment before any import; so do we, for the whole run: a module
# that builds the process's one Metrics at import (postpurchase.observability) and is first
# imported by a unit test must not keep an empty namespace for the integration tests after it.
for _name, _value in {"POWERTOOLS_METRICS_NAMESPACE": "Test", "POWERTOOLS_SERVICE_NAME": "test"}.items():
    os.environ.setdefault(_name, _value)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    tried, accepted = getattr(node, "workeroutput", {}).get("security_attacks", [0, []])
    counts = getattr(node.config, "security_attacks", [0, []])
    node.config.security_attacks = [counts[0] + tried, counts[1] + list(accepted)]


def pytest_terminal_summary(terminalreporter, config):
    tried, accepted = getattr(config, "security_attacks", [0, []])
    if tried:
        terminalreporter.write_line(f"security: {tried} attacks tried, {len(accepted)} accepted")
        for name in accepted[:20]:
            terminalreporter.write_line(f"security: accepted {name}")
