"""The human-distribution critic: bundles that score how far a response is from its bucket's human support."""

from polyalign_lf.critic.interface import CRITIC_TYPES, Critic, load_critic, read_critic_config, register_critic_type

__all__ = ["CRITIC_TYPES", "Critic", "load_critic", "read_critic_config", "register_critic_type"]
