"""Meta rules: the limits of static analysis (opaque or dynamic code), suppression comments, helper files."""
