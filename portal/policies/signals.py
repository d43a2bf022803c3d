"""What the policies app tells the apps above it (alerts), which it must not import.

`policy_event` is sent inside the transaction that records it, with keyword arguments `tenant_id`,
`service` (the mirror's Service), `event` ("taken": a change was started; "refused": IES refused a
change and the policy paused; "awaiting": a change awaits approval), `policy_name`, `kbps` (the
bandwidth the change asks for) and `reason` (IES's words for a refusal, else "")."""

from django.dispatch import Signal

policy_event = Signal()
