"""Teaching the course on a JupyterHub: nbgitpuller links, the image check, and a real local hub for tests."""
