import type { Metadata } from 'next';
import { ClassDashboard } from '@/components/classroom/class-dashboard';
import { courseOutline } from '@/components/classroom/course-outline';
import { InstructorGate } from '@/components/classroom/instructor-gate';

export const metadata: Metadata = {
  title: 'Class dashboard',
  robots: { index: false, follow: false },
};

/** The instructor's dashboard. The page itself holds nothing secret: the class data comes over the instructor's socket, after the token is accepted. */
export default function InstructorPage() {
  return (
    <InstructorGate>
      <ClassDashboard lessons={courseOutline()} />
    </InstructorGate>
  );
}
