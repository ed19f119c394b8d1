"""Project commands: the project on disk, edits, import, export, graph, run."""
