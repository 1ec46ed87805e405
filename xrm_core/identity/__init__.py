"""Identity and permissions: departments, teams, roles and grants, shares, principals, and the
read/write scoping applied by construction to every permission-aware model."""
