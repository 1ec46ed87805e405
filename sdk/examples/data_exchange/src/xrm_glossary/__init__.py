"""SDK example ``glossary``: its records imported and exported by the core, in any format, plus one more format."""
