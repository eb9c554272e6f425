"""KPIs (SPEC §4.4): `measures` and `report` are pure, `loading` reads the database, `formatting`
writes tables and CSV."""
