// Where notifications show: loaded with the first one (providers.tsx), not with the first page.
import { Notifications } from "@mantine/notifications";

export default function NotificationsHost() {
  return <Notifications position="top-right" />;
}
