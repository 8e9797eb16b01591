// Placeholder: the thumbnail benchmark is being written (bench/thumbnail.sh).
print("thumbnail bench: not written yet")
