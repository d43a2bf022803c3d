"""Import and export of the deck's preset table: which users belong to which IES tenant.

The sheet has one row per tenant (or per tenant and role): users, tenant, token, kind, service id,
service name, CloudVpnName, recommended scenarios; optionally bearer and role. Header names may be
English or Chinese (用户/租户/Token/类型/业务ID/业务名称/CloudVpnName/推荐场景); a cell such as
"User 2~User 4" stands for user2, user3 and user4.

The steps are separate so that a person sees what will happen before it does:

1. `read.read_upload` / `read.read_pasted` turn the file into rows of text (or a `SheetError`
   saying why it cannot);
2. `parse.parse_table` validates every cell and gives `SheetRow`s plus `CellError`s (row and column);
3. `plan.build_plan` compares the rows with the database: create, update or unchanged, per row;
4. `portal.staff.services.import_apply` does it, all in one transaction, recording each change in
   the audit trail.

Between preview and apply the rows wait in the session with the secrets encrypted
(`session.rows_to_session`); neither the file nor a token is ever sent back to the browser.

Spreadsheet safety: a cell that starts with = + - @ (a formula to Excel) is refused on import, except
that opaque ids and tokens may start with + or -; the export (`export`) neutralises such cells with a
leading apostrophe, which the import removes again, so that a round trip is lossless.
"""
