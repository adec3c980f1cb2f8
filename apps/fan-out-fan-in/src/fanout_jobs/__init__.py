"""POST /jobs (split and fan out) and GET /jobs/{job_id} (status, progress, result)."""
