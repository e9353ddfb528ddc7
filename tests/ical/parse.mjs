// Read an .ics file on stdin with ical.js and print what a client would see.
// Prints a JSON array with one object per VEVENT:
// {uid, sequence, start_utc, end_utc, status, method, organizer, attendees, location}.
import ICAL from "ical.js";

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on("data", (chunk) => chunks.push(chunk));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", reject);
  });
}

function utc(time) {
  return time.convertToZone(ICAL.Timezone.utcTimezone).toString();
}

function address(property) {
  return { email: property.getFirstValue(), name: property.getParameter("cn") ?? null };
}

const calendar = new ICAL.Component(ICAL.parse(await readStdin()));
const method = calendar.getFirstPropertyValue("method");
const events = calendar.getAllSubcomponents("vevent").map((component) => {
  const event = new ICAL.Event(component);
  const organizer = component.getFirstProperty("organizer");
  return {
    uid: event.uid,
    sequence: event.sequence,
    start_utc: utc(event.startDate),
    end_utc: utc(event.endDate),
    status: component.getFirstPropertyValue("status"),
    method,
    summary: event.summary,
    description: event.description,
    location: event.location || null,
    organizer: organizer ? address(organizer) : null,
    attendees: component.getAllProperties("attendee").map(address),
    alarms: component.getAllSubcomponents("valarm").length,
  };
});
process.stdout.write(JSON.stringify(events) + "\n");
