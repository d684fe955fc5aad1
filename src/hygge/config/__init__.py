"""Project configuration: strict YAML, variables, validated models, discovery."""

from hygge.config.project import EntityDef, FlowDef, Project, find_project_root, load_project

__all__ = ["EntityDef", "FlowDef", "Project", "find_project_root", "load_project"]
