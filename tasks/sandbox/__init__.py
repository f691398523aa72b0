"""The container boundary: everything the agent runs happens behind `Sandbox`."""
