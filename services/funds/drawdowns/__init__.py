"""Drawdowns (用款申请): an organization asks for its project's carried-over money."""
