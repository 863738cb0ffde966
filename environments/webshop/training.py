"""WebShop's training knowledge: turn limit, λ, prompts and eval split (goals 0..499, verl-agent's eval goals)."""

from __future__ import annotations

from agentgym_seal.family import FamilySpec

#: Training uses the env's ``train`` split (goals 500..end); evaluation its ``eval`` split, logged as ``test``.
FAMILY = FamilySpec(
    name="webshop",
    prompts="agentgym_seal.environments.webshop.prompts:WEBSHOP_PROMPTS",
    max_turns=15,  # verl-agent's WebShop max_steps
    invalid_penalty=0.1,  # verl-agent's invalid_action_penalty_coef
    eval_splits=("test",),
    split_names={"test": "eval"},
)

ENV_ENTRIES = (
    FAMILY.env("WebShopText-v0", "agentgym_seal.environments.webshop.env:WebShopTextEnv", extra="webshop"),
    FAMILY.env("WebShopHTML-v0", "agentgym_seal.environments.webshop.browser:WebShopHTMLEnv", extra="webshop"),
)
