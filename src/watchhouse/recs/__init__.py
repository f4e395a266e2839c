"""Recommenders whose lists go into the `recommendation_lists` mart."""
