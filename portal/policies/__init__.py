"""Bandwidth policies (issue 15): the pure parts, each tested on its own.

``weekly`` plans a bandwidth from a weekly calendar in the tenant's zone; ``autoscale`` decides a
change from the traffic of the last minutes; ``backtest`` replays that decision over past traffic.
They read no clock, database or IES: the engine that runs them on a beat tick and starts each
change as a tracked MODIFY operation is built on top of them.
"""
