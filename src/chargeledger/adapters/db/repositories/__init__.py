"""One repository per aggregate; each maps rows to frozen domain dataclasses and back."""
