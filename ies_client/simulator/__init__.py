"""The IES simulator: a stand-alone stand-in for Huawei CloudOpera IES under ``/rest``.

It runs as its own process (``python -m ies_client.simulator``), keeps its state in its own SQLite
file and imports no Django, so the portal, the tests and a developer's curl all talk to it over
real HTTP exactly as they would to a real IES. ``docs/ies-simulator.md`` is its contract.
"""
