"""The question bank: bundled YAML files, their schema and the loader."""
