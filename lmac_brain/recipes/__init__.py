"""Bodies of the recipe scripts: each reads like a table of contents of the experiment."""
