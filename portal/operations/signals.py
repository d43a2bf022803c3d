"""What the operations app tells the apps above it, which it must not import.

`operation_finished` is sent inside the transaction that ends an operation (its final state and its
audit event): a receiver's writes commit with them or not at all, and a failing receiver rolls the
end back (the operation stays in flight and is looked at again). Keyword arguments:

- `operation`: the finished Operation (its `state` and `message` are the outcome);
- `remote`: the service as IES reported it at the end (an `ies_client` Service), or None when the
  portal did not read it;
- `gone`: True when IES confirmed the service no longer exists;
- `ies_finished_at`: when IES says the operation ended (an aware datetime), or None when IES did not
  say (no operations endpoint, or the portal ended it without IES's word).

The services app keeps its mirror of the tenant's services up to date with it.

`operation_halted` is sent, inside the transaction that halts it, when an operation stops without
an end: stuck (IES stopped answering about it) or needing attention (the tenant's token). Its
keyword argument `operation` has its new `state` and `message`. It may still end later, through
`operation_finished`, once someone rechecks it. Webhooks tell the tenant.
"""

from django.dispatch import Signal

operation_finished = Signal()
operation_halted = Signal()
