"""JSON schemas of each environment's actions, installed as ``agentgym_seal.tool_schemas``."""

if __name__ != "agentgym_seal.tool_schemas":
    raise ImportError(
        f"this folder is installed as 'agentgym_seal.tool_schemas', but it was imported as {__name__!r}. "
        "Fix: read the schemas with importlib.resources from agentgym_seal.tool_schemas."
    )
