from .multi_level_distiller import MultiLevelDistiller

__all__ = ['MultiLevelDistiller']
