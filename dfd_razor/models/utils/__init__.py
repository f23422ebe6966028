from .disparity import disparity_map, disparity_mask, hd_mask, spatial_attention

__all__ = ['spatial_attention', 'disparity_map', 'disparity_mask', 'hd_mask']
