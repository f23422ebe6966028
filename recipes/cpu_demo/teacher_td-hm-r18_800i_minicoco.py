_base_ = '../../configs/cpu_demo/heatmap_pose.py'
