from .teacher_distill import CheckedFpnTeacherDistill, CheckedSingleTeacherDistill, TeacherCheckMixin

__all__ = ['CheckedFpnTeacherDistill', 'CheckedSingleTeacherDistill', 'TeacherCheckMixin']
