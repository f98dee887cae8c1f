'use client';

import { Button } from '../ui/button';
import { PrinterIcon } from '../ui/icons';

export function PrintButton() {
  return (
    <Button onClick={() => window.print()} data-print="hide">
      <PrinterIcon />
      Print agenda
    </Button>
  );
}
