"""Bank statement files: reading camt.053 and CSV statements into the domain's ``Statement``
and writing camt.053 (issue 13, "Bank statements")."""
