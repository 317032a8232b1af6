"""The reference of ``bench/rest.py``: FastAPI's hello world, served by the same uvicorn (same
loop, same HTTP parser, no access log) as ``chargeledger serve``."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def hello() -> dict[str, str]:
    return {"message": "Hello World"}
