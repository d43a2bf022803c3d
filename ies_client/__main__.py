"""``python -m ies_client``: see :mod:`ies_client.cli`."""

from ies_client.cli import main

if __name__ == "__main__":
    main()
