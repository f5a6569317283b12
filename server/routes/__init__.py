"""HTTP routes by resource. Each module exposes ``router``; handlers stay thin."""
