"""Project configuration: strict YAML, variables, validated models, discovery.

Import from the modules (`hygge.config.project`, `hygge.config.models`, ...): this package
imports none of them, so a plugin base can use the models without loading discovery.
"""
