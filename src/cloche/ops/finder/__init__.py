"""What the resolver asks: package files and metadata, from the index or the store alone."""
